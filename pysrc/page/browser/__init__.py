"""The page's browser adapter: the App (frame loop, panels, URL), the view interface and its helpers, the article."""

"""Why the KL term? Pure: the checked index of the training replay and the β models, their maps, charts and
sentences.
"""

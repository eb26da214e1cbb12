"""End to end, issue 27 item 7: the training schedule in the Source panel. An edit that anneals β, applied while a
run is paused part-way, is what the next steps use (the page's figures say its β, and CPython running the same
edited code gives the same losses); a broken edit is explained and the last good schedule keeps training; the edit
survives a reload."""

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from live_code_helpers import line_of
from test_train_view import TIMEOUT_MS, wait_state, wait_step
from test_vq_source import apply, editor_text

from live.edits import Registry
from train import loop, schedule
from training.live_runtime import run, trainer

pytestmark = pytest.mark.browser

SHIPPED = Path(schedule.__file__).read_text(encoding="utf-8")
ANNEAL = SHIPPED.replace("    return beta\n", "    return beta * min(1.0, step / 100)\n")
NEGATIVE = SHIPPED.replace("    return beta\n", "    return -beta\n")
SETTINGS = loop.Settings(seed=6, beta=2.0, learning_rate=3e-3)


def page_steps(watch):
    return json.loads(
        watch.python(
            "import json, __main__; "
            "json.dumps([[s.bce, s.kl, s.beta] for s in __main__.app.on_demand['train'].trainer.losses])"
        )
    )


def click_step(page, to):
    page.click("#train-step")
    wait_step(page, to)
    page.wait_for_selector(f"#train-panel[data-map-step='{to}']", state="attached", timeout=TIMEOUT_MS)


def cpython_annealed(steps_before, steps_after):
    """The same run in CPython: the shipped schedule for the first steps, then the edit applied."""

    def losses():
        registry = Registry()
        t = trainer(SETTINGS)
        t.schedule = registry
        run(t.train(steps_before))
        registry.apply("train.schedule", ANNEAL)
        run(t.train(steps_after))
        return [[s.bce, s.kl, s.beta] for s in t.losses]

    with ThreadPoolExecutor(1) as pool:  # Playwright's event loop runs in this thread
        return pool.submit(losses).result()


def test_annealing_beta_in_the_source_panel_trains_the_next_steps(watch, server_url):
    page = watch.open_state(server_url, panels={"train", "source"}, train_seed=6, train_beta=2.0, train_rate=3e-3)
    wait_state(page, "paused")
    click_step(page, 1)
    page.click('#source-stories button[data-story="train"]')
    page.click('#source-tabs button[data-module="train.schedule"]')
    page.wait_for_function("() => document.querySelector('.cm-content').textContent.includes('def beta_at')")
    assert page.get_attribute('#source-tabs [data-module="train.schedule"]', "class") == "editable"
    assert editor_text(watch) == SHIPPED
    apply(page, watch, ANNEAL)
    assert page.is_hidden("#source-error")
    assert "train/schedule.py" in page.text_content("#edited-marker")
    for to in (2, 3, 4):
        click_step(page, to)
    assert "β 0.08" in page.text_content("#train-figures")
    shown = page_steps(watch)
    expected = cpython_annealed(1, 3)
    assert [s[2] for s in shown] == pytest.approx([2.0, 0.04, 0.06, 0.08])
    for (bce, kl, beta), (ref_bce, ref_kl, ref_beta) in zip(shown, expected, strict=True):
        assert bce == pytest.approx(ref_bce, rel=1e-3) and kl == pytest.approx(ref_kl, rel=1e-3)
        assert beta == pytest.approx(ref_beta, rel=1e-6)

    apply(page, watch, NEGATIVE)  # refused: the annealing goes on
    error = page.text_content("#source-error")
    line = line_of(NEGATIVE, "return -beta")
    assert error.startswith(f"Line {line}: beta_at returned -1.0; β must be a finite number, zero or more."), error
    assert error.endswith("The page keeps running on the last good code.")
    click_step(page, 5)
    assert page_steps(watch)[-1][2] == pytest.approx(0.1)

    page.reload()
    watch.settle()
    assert json.loads(watch.python("import json, __main__; json.dumps(__main__.app.maths.sources())")) == {
        "train.schedule": ANNEAL
    }
    assert watch.errors == [] and watch.csp_violations == []

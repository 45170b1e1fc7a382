"""Scalar fast paths of the hot loop (issue 24) must give exactly what the
general vector arithmetic gives: the record tables of every scenario stay
bit-for-bit the same (``/work/tools/hashcheck.py``), and these tests check
the identity on random inputs, including the edges (nothing arrives, other
grades arrive, spare tonnes held)."""

from types import SimpleNamespace

import numpy as np

from resim.model.actors.assembly import Assembly


class _Firm(Assembly):
    def __init__(self, mix: np.ndarray):
        grade_matrix = np.eye(len(mix), 3)
        self.ctx = SimpleNamespace(elements=SimpleNamespace(content=lambda g: g @ grade_matrix))
        self._mix = mix
        self._demand = 1.0


def _pair(mix: np.ndarray, stock: float) -> tuple[_Firm, _Firm]:
    fast, slow = _Firm(mix), _Firm(mix)
    fast._init_assembly(stock)
    slow._init_assembly(stock)
    slow._one = -1  # the general path
    return fast, slow


def test_one_grade_arrivals_match_the_vector_path_exactly() -> None:
    rng = np.random.default_rng(24)
    for _ in range(500):
        n = int(rng.integers(2, 5))
        mix = np.zeros(n)
        mix[int(rng.integers(n))] = 1.0
        fast, slow = _pair(mix, float(rng.uniform(0.0, 100.0)))
        assert fast._one >= 0
        for _step in range(6):
            grades = rng.uniform(0.0, 10.0, n) * (rng.random(n) < 0.5)
            if rng.random() < 0.5:  # most arrivals hold only the firm's grade
                grades = grades * mix
            fast._add_grades(grades)
            slow._add_grades(grades)
            assert fast._stock == slow._stock
            assert fast._spare.tolist() == slow._spare.tolist()
            assert fast._spare_t() == float(slow._spare.sum())
            take = float(rng.uniform(0.0, fast._stock + 1e-9))
            fast._stock -= take
            slow._stock -= take


def test_a_mix_of_several_grades_takes_the_general_path() -> None:
    fast, _ = _pair(np.array([0.4, 0.6]), 10.0)
    assert fast._one == -1
    fast._add_grades(np.array([4.0, 0.0]))
    assert fast._stock == 10.0 and fast._spare_t() == 4.0


def test_licensed_tonnes_of_magnets_match_the_mask_formula() -> None:
    from resim.model.context import Elements
    from resim.model.products import MAGNET

    grades = {f"G{i}": SimpleNamespace(content={"Nd": 0.3, "Dy": 0.01 * i}) for i in range(4)}
    elements = Elements(["Nd", "Dy", "Tb"], grades, ["Dy"])
    rng = np.random.default_rng(3)
    for _ in range(200):
        mask = elements.mask(["Dy"] if rng.random() < 0.7 else ["Tb"])
        de_minimis = float(rng.choice([0.0, 0.015, 0.025, 0.5]))
        qty = rng.uniform(0.0, 5.0, 4) * (rng.random(4) < 0.6)
        want = float(qty[elements.grade_matrix @ mask > de_minimis].sum())
        assert MAGNET.licensed_tonnes(elements, mask, de_minimis, None, qty) == want


def test_a_finished_replication_leaves_almost_nothing_to_the_cyclic_collector() -> None:
    """``Model.dismantle`` breaks the model's cycles: reference counting
    frees it, so the collector after a run has a handful of objects to free
    instead of tens of thousands."""
    import gc
    from pathlib import Path

    from resim.api import load_scenario
    from resim.model.replication import run_one

    loaded = load_scenario(Path(__file__).parent / "data" / "scenarios_608c727" / "per_shipment_licences.toml")
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        rec = run_one(loaded, 0)
        assert rec.error is None and len(rec.licences) > 0
        assert gc.collect() < 100
    finally:
        if enabled:
            gc.enable()

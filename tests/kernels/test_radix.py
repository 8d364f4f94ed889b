import numba
import numpy as np
import pytest

from ionscape.kernels.radix import gather, kernel_threads, stable_argsort


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_order_worked_out_by_hand(dtype):
    values = np.array([3.5, -1.0, np.nan, 0.0, 3.5, -0.0, np.inf, -np.inf, 1e-30, -np.nan, 2.0], dtype=dtype)
    # -inf, -1, then 0.0 and -0.0 as equals in input order, 1e-30, 2, the two 3.5 in order, inf, NaNs
    expected = [7, 1, 3, 5, 8, 10, 0, 4, 6, 2, 9]
    np.testing.assert_array_equal(stable_argsort(values), expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_equals_numpy_stable_sort_with_many_ties(dtype):
    rng = np.random.default_rng(7)
    values = np.round(rng.normal(500, 200, 200_000), 1).astype(dtype)  # thousands of tied values
    order = stable_argsort(values)
    assert order.dtype == np.intp
    np.testing.assert_array_equal(order, np.argsort(values, kind="stable"))


def test_spectra_of_sorted_runs():
    rng = np.random.default_rng(3)
    runs = [np.sort(rng.uniform(100, 1000, rng.integers(0, 50))) for _ in range(500)]
    values = np.concatenate(runs)
    np.testing.assert_array_equal(stable_argsort(values), np.argsort(values, kind="stable"))


def test_constant_and_empty():
    np.testing.assert_array_equal(stable_argsort(np.full(5, 2.5)), np.arange(5))
    assert len(stable_argsort(np.empty(0))) == 0


def test_rejects_other_input():
    with pytest.raises(ValueError, match="1-D float32 or float64"):
        stable_argsort(np.arange(5))
    with pytest.raises(ValueError, match="1-D float32 or float64"):
        stable_argsort(np.zeros((2, 2)))


@pytest.mark.parametrize("blocks", [1, 2, 3, 7, 64])
def test_order_does_not_depend_on_blocks(blocks):
    rng = np.random.default_rng(11)
    values = np.round(rng.uniform(100, 1000, 5_001), 2)  # many ties across block boundaries
    np.testing.assert_array_equal(stable_argsort(values, blocks=blocks), np.argsort(values, kind="stable"))


def test_more_blocks_than_values():
    np.testing.assert_array_equal(stable_argsort(np.array([2.0, 1.0, 2.0]), blocks=8), [1, 0, 2])


def test_gather_is_fancy_indexing():
    values = np.array([10.0, 20.0, 30.0, 40.0], dtype=np.float32)
    order = np.array([3, 0, 0, 2])
    out = gather(values, order)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [40.0, 10.0, 10.0, 30.0])


def test_kernel_threads_restores_the_thread_count():
    before = numba.get_num_threads()
    with kernel_threads(1):
        assert numba.get_num_threads() == 1
        np.testing.assert_array_equal(stable_argsort(np.array([3.0, 1.0, 2.0])), [1, 2, 0])
    assert numba.get_num_threads() == before

import numba
import numpy as np
import pytest

from ionscape.kernels.radix import kernel_threads, sort_by_key


def _order(values, **options):
    """The stable argsort that sort_by_key gives: the positions column, reordered."""
    return sort_by_key(values.copy(), np.arange(len(values)), **options)[1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_order_worked_out_by_hand(dtype):
    values = np.array([3.5, -1.0, np.nan, 0.0, 3.5, -0.0, np.inf, -np.inf, 1e-30, -np.nan, 2.0], dtype=dtype)
    # -inf, -1, then 0.0 and -0.0 as equals in input order, 1e-30, 2, the two 3.5 in order, inf, NaNs
    expected = [7, 1, 3, 5, 8, 10, 0, 4, 6, 2, 9]
    np.testing.assert_array_equal(_order(values), expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sorted_values_come_back_from_the_keys(dtype):
    values = np.array([3.5, -1.0, np.nan, 0.0, 3.5, -0.0, np.inf, -np.inf, 1e-30, -2.5e-38, 2.0], dtype=dtype)
    sorted_values = sort_by_key(values.copy())[0]
    assert sorted_values.dtype == dtype
    expected = [-np.inf, -1.0, -2.5e-38, 0.0, 0.0, 1e-30, 2.0, 3.5, 3.5, np.inf, np.nan]
    np.testing.assert_array_equal(sorted_values, np.array(expected, dtype=dtype))
    assert not np.signbit(sorted_values[3:5]).any()  # -0.0 comes back as 0.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_equals_numpy_stable_sort_with_many_ties(dtype):
    rng = np.random.default_rng(7)
    values = np.round(rng.normal(500, 200, 200_000), 1).astype(dtype)  # thousands of tied values
    np.testing.assert_array_equal(_order(values), np.argsort(values, kind="stable"))


def test_columns_are_reordered_with_the_values():
    values = np.array([30.0, 10.0, 20.0, 10.0])
    ints = np.array([3.0, 1.0, 2.0, 4.0], dtype=np.float32)
    pixels = np.array([7, 5, 6, 8], dtype=np.uint32)
    rows = np.zeros(4, dtype=[("a", np.int16), ("b", np.float64)])
    rows["b"] = [0.3, 0.1, 0.2, 0.4]  # a strided column
    out = sort_by_key(values, ints, pixels, rows["b"])
    np.testing.assert_array_equal(out[0], [10.0, 10.0, 20.0, 30.0])
    np.testing.assert_array_equal(out[1], np.array([1.0, 4.0, 2.0, 3.0], dtype=np.float32))
    np.testing.assert_array_equal(out[2], [5, 8, 6, 7])
    np.testing.assert_array_equal(out[3], [0.1, 0.4, 0.2, 0.3])
    assert [a.dtype for a in out] == [np.float64, np.float32, np.uint32, np.float64]


def test_values_that_cannot_be_reused_are_left_alone():
    rows = np.zeros(3, dtype=[("mz", np.float64), ("i", np.float32)])
    rows["mz"] = [2.0, 1.0, 3.0]
    assert sort_by_key(rows["mz"])[0].tolist() == [1.0, 2.0, 3.0]
    assert rows["mz"].tolist() == [2.0, 1.0, 3.0]
    frozen = np.array([2.0, 1.0])
    frozen.flags.writeable = False
    assert sort_by_key(frozen)[0].tolist() == [1.0, 2.0]


def test_spectra_of_sorted_runs():
    rng = np.random.default_rng(3)
    runs = [np.sort(rng.uniform(100, 1000, rng.integers(0, 50))) for _ in range(500)]
    values = np.concatenate(runs)
    np.testing.assert_array_equal(_order(values), np.argsort(values, kind="stable"))


def test_values_far_from_the_others():
    """Infinities, NaN and huge values stretch the key range, so the bulk of the values falls
    into few, large or wide buckets: they are sorted all the same."""
    rng = np.random.default_rng(5)
    bulk = np.round(rng.uniform(499, 501, 1_100_000), 4)  # more than a thread's scratch holds
    squeezed = np.concatenate([bulk, [1e300, np.inf, -1e300, np.nan, -np.inf, 500.0]])
    rng.shuffle(squeezed)
    np.testing.assert_array_equal(_order(squeezed), np.argsort(squeezed, kind="stable"))
    spread = np.exp(rng.uniform(0, np.log(1e6), 70_000))  # buckets spanning decades, with ties
    spread = np.concatenate([spread, [1e300, -1e300], spread[:1000]])
    np.testing.assert_array_equal(_order(spread), np.argsort(spread, kind="stable"))


def test_constant_and_empty():
    np.testing.assert_array_equal(_order(np.full(5, 2.5)), np.arange(5))
    assert len(_order(np.empty(0))) == 0


def test_rejects_other_input():
    with pytest.raises(ValueError, match="1-D float32 or float64"):
        sort_by_key(np.arange(5))
    with pytest.raises(ValueError, match="1-D float32 or float64"):
        sort_by_key(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="one entry per value"):
        sort_by_key(np.zeros(3), np.zeros(2))


@pytest.mark.parametrize("blocks", [1, 2, 3, 7, 64])
def test_order_does_not_depend_on_blocks(blocks):
    rng = np.random.default_rng(11)
    values = np.round(rng.uniform(100, 1000, 5_001), 2)  # many ties across block boundaries
    np.testing.assert_array_equal(_order(values, blocks=blocks), np.argsort(values, kind="stable"))


def test_more_blocks_than_values():
    np.testing.assert_array_equal(_order(np.array([2.0, 1.0, 2.0]), blocks=8), [1, 0, 2])


def test_kernel_threads_restores_the_thread_count():
    before = numba.get_num_threads()
    with kernel_threads(1):
        assert numba.get_num_threads() == 1
        np.testing.assert_array_equal(_order(np.array([3.0, 1.0, 2.0])), [1, 2, 0])
    assert numba.get_num_threads() == before

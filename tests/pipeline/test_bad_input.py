"""Bad input gets a clear IonscapeError, and nothing is written."""

from __future__ import annotations

import shutil

import pytest

from ionscape import annotate, example_config
from ionscape.errors import (
    ConfigError,
    DatabaseError,
    IncompleteIbdError,
    MissingIbdError,
    ProfileModeError,
    StageCancelled,
)
from tests.conftest import DATA


@pytest.fixture
def example_copy(tmp_path, example_imzml):
    for path in example_imzml.parent.iterdir():
        shutil.copy(path, tmp_path / path.name)
    return tmp_path / example_imzml.name


def test_missing_ibd(example_copy, lithops_local):
    example_copy.with_suffix(".ibd").unlink()
    with pytest.raises(MissingIbdError, match=r"\.ibd is missing"):
        annotate(example_copy, ["core_metabolome"], lithops_config=lithops_local)


def test_truncated_ibd_is_reported_from_inside_the_task(example_copy, lithops_local):
    ibd = example_copy.with_suffix(".ibd")
    ibd.write_bytes(ibd.read_bytes()[:50_000])
    with pytest.raises(IncompleteIbdError, match="truncated"):
        annotate(
            example_copy, [DATA / "moldb" / "mol_db5.csv"], example_config(), lithops_config=lithops_local
        )


def test_a_dataset_failure_stops_the_stages_running_beside_it(example_copy, lithops_local):
    """The isotope patterns of 117k ions take a while without the cache: the dataset task's
    error ends the job, reported as itself, not as the cancellation of the other stages."""
    ibd = example_copy.with_suffix(".ibd")
    ibd.write_bytes(ibd.read_bytes()[:50_000])
    reports = []
    with pytest.raises(IncompleteIbdError, match="truncated") as failed:
        annotate(
            example_copy,
            ["core_metabolome"],
            lithops_config=lithops_local,
            use_centroid_cache=False,
            progress=lambda stage, done, total: reports.append((stage, done, total)),
        )
    assert not isinstance(failed.value, StageCancelled)
    centroid_tasks = [(done, total) for stage, done, total in reports if stage == "centroids"]
    assert centroid_tasks, "the centroids stage ran beside the dataset stage"
    assert all(done < total for done, total in centroid_tasks), "the centroids stage was stopped"


def test_profile_mode_refused(lithops_local):
    imzml = DATA / "imzml" / "example_continuous" / "Example_Continuous.imzML"
    with pytest.raises(ProfileModeError, match="centroid"):
        annotate(imzml, [DATA / "moldb" / "mol_db5.csv"], lithops_config=lithops_local)


def test_empty_database(tmp_path, example_imzml):
    empty = tmp_path / "empty.csv"
    empty.write_text("id,name,formula\n")
    with pytest.raises(DatabaseError, match="empty"):
        annotate(example_imzml, [empty])


def test_unknown_adduct():
    with pytest.raises(ConfigError, match="Xy"):
        example_config().with_overrides(adducts=("+H", "+Xy"))

"""The web app in a real browser: sign up, upload a custom database and the bundled example, watch the
job finish, explore the annotations and an ion image, share the dataset, review and publish a project.

Expected numbers come from METASPACE's own output for the example against mol_db5
(tests/data/reference/), not from the service. The tests of this module share one annotated dataset
and run in file order: the last one publishes it.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

import ionscape
from tests.conftest import DATA, REFERENCE

PASSWORD = "correct horse battery"
JOB_TIMEOUT_MS = 120_000
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
VIRIDIS_LOW, VIRIDIS_HIGH = (68, 1, 84), (253, 231, 37)


class Person:
    """A user with their own browser context (cookies), signed up through the UI."""

    def __init__(self, browser: Browser, base_url: str, name: str, shots) -> None:
        self.context: BrowserContext = browser.new_context(base_url=base_url, viewport=DESKTOP)
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.name = name
        self.email = f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.org"
        self.shots = shots
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.sign_up()

    def sign_up(self) -> None:
        page = self.page
        page.goto("/signup")
        page.get_by_label("Name").fill(self.name)
        page.get_by_label("E-mail").fill(self.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        expect(page.locator(".user-chip")).to_contain_text(self.name)

    def shot(self, name: str) -> None:
        self.page.evaluate("window.scrollTo(0, 0)")  # the sticky header belongs at the top of a full page
        self.page.screenshot(path=self.shots / f"{name}.png", full_page=True)


@dataclass
class Annotated:
    alice: Person
    dataset_id: str
    name: str


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "untreated_tiny__mol_db5.csv", keep_default_na=False)


@pytest.fixture(scope="module")
def annotated(browser, live_server, screenshots, reference) -> Annotated:
    """Alice uploads mol_db5 (untargeted) and the example with its settings, and waits for the job."""
    alice = Person(browser, live_server, "Alice", screenshots)
    page = alice.page
    page.goto("/")
    expect(page.get_by_role("heading", name="No datasets yet")).to_be_visible()

    page.goto("/databases")
    page.get_by_label("File").set_input_files(DATA / "moldb" / "mol_db5.csv")
    expect(page.get_by_label("Name")).to_have_value("mol_db5")
    page.get_by_label("FDR").select_option("false")
    page.get_by_role("button", name="Upload database").click()
    expect(page.locator(".notice.success")).to_contain_text("mol_db5")
    expect(page.locator("table.moldbs tr", has_text="mol_db5")).to_contain_text("untargeted")
    alice.shot("01-databases")

    imzml = ionscape.example_dataset()
    meta = json.loads((imzml.parent / "meta.json").read_text())
    page.goto("/upload")
    page.locator("input[name=files]").set_input_files([imzml, imzml.with_suffix(".ibd")])
    expect(page.get_by_label("Dataset name")).to_have_value(imzml.stem)
    page.get_by_label("Organism", exact=True).fill(meta["Sample_Information"]["Organism"])
    page.get_by_label("Organism part").fill(meta["Sample_Information"]["Organism_Part"])
    page.get_by_label("Condition").fill(meta["Sample_Information"]["Condition"])
    page.get_by_label("Analyzer").select_option("FTICR")
    page.get_by_label("Resolving power").fill("80000")
    page.get_by_label("at m/z").fill("700")
    page.get_by_label("MALDI matrix").fill(meta["Sample_Preparation"]["MALDI_Matrix"])
    page.get_by_label("Pixel size x (µm)").fill("50")
    page.get_by_role("checkbox", name=re.compile("core_metabolome")).uncheck()
    page.get_by_role("checkbox", name=re.compile("mol_db5")).check()
    page.get_by_label("Adducts").fill("+H, +K, +Na")
    page.get_by_text("Advanced isotope settings").click()
    page.get_by_label("Peak shape").select_option("TOF")
    alice.shot("02-upload-form")
    page.get_by_role("button", name="Upload and annotate").click()

    expect(page.locator(".notice.success")).to_contain_text("queued for annotation")
    row = page.locator("table.datasets tbody tr").first
    expect(row).to_have_attribute("data-status", "finished", timeout=JOB_TIMEOUT_MS)
    expect(row.locator(".count")).to_contain_text(str(int((reference["fdr"] <= 0.1).sum())))
    alice.shot("03-list-finished")
    return Annotated(alice, row.get_attribute("data-id"), imzml.stem)


def _section_head(page: Page):
    return page.locator(".annotation-table .section-head")


def _canvas_pixels(page: Page) -> list[list[int]]:
    """RGBA of every pixel of the ion image canvas, row by row."""
    return page.evaluate(
        """() => {
            const canvas = document.querySelector("canvas.ion-canvas");
            const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            const pixels = [];
            for (let i = 0; i < data.length; i += 4) pixels.push(Array.from(data.slice(i, i + 4)));
            return pixels;
        }"""
    )


def test_submission_used_the_examples_settings(annotated):
    dataset = annotated.alice.page.request.get(f"/api/v1/datasets/{annotated.dataset_id}").json()
    assert dataset["config"] == ionscape.example_config().to_ds_config()
    assert dataset["databases"] == ["mol_db5"]
    assert dataset["metadata"]["pixel_size_um"] == [50.0, 50.0]


def test_annotation_table_filters_and_sorting(annotated, reference):
    page = annotated.alice.page
    page.goto("/")
    page.get_by_role("link", name=annotated.name).click()
    expect(page.get_by_role("heading", name=annotated.name)).to_be_visible()
    expect(_section_head(page)).to_contain_text(f"{int((reference['fdr'] <= 0.1).sum())} annotations")

    page.get_by_label("FDR ≤").select_option("")
    page.get_by_label("Adduct").select_option("+K")
    n_k = int((reference["adduct"] == "+K").sum())
    expect(_section_head(page)).to_contain_text(f"{n_k} annotations")
    ions = page.locator("table.annotations tbody .formula").all_inner_texts()
    assert len(ions) == n_k and all(ion.endswith("+K") for ion in ions)

    page.get_by_label("Adduct").select_option("")
    page.get_by_label("m/z from").fill("300")
    page.get_by_label("to", exact=True).fill("400")
    in_range = reference[reference["theo_mz"].between(300, 400)]
    expect(_section_head(page)).to_contain_text(f"{len(in_range)} annotations")
    mzs = [float(v) for v in page.locator("table.annotations tbody td:nth-child(3)").all_inner_texts()]
    assert len(mzs) == len(in_range) and all(300 <= mz <= 400 for mz in mzs)

    sort_by_mz = page.locator("th", has_text="m/z").get_by_role("button")
    sort_by_mz.click()  # descending first
    sort_by_mz.click()
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("m/z")
    first_mz = page.locator("table.annotations tbody tr").first.locator("td:nth-child(3)")
    expect(first_mz).to_have_text(f"{in_range['theo_mz'].min():.4f}")


def test_ion_image_on_canvas(annotated, reference):
    page = annotated.alice.page
    page.goto(f"/datasets/{annotated.dataset_id}")
    page.get_by_label("Formula or name").fill("C14H8O6")
    expect(page.locator("table.annotations tbody tr")).to_have_count(
        int((reference["formula"] == "C14H8O6").sum())
    )
    row = page.locator("table.annotations tbody tr", has_text="C14H8O6+H")
    row.click()
    expect(page.locator(".diagnostics h3")).to_have_text("C14H8O6+H")
    expected = reference.set_index("ion").loc["C14H8O6+H"]
    expect(page.locator(".scores")).to_contain_text(f"{expected['msm']:.3f}")
    expect(page.locator(".diagnostics")).to_contain_text(f"{expected['theo_mz']:.4f}")
    expect(page.locator("canvas.ion-canvas")).to_have_attribute("aria-label", re.compile("isotope peak 1"))

    # the largest pixel gets viridis' top colour, the smallest its bottom (the example has no hot spot
    # above the 99th percentile of 8 values but the maximum, which the clip brings to that level)
    url = f"/api/v1/datasets/{annotated.dataset_id}/annotations/{row.get_attribute('data-id')}/images/1.npy"
    image = np.load(io.BytesIO(page.request.get(url).body()))
    pixels = _canvas_pixels(page)
    assert len(pixels) == image.size and all(p[3] == 255 for p in pixels)
    assert pixels[int(image.argmax())][:3] == list(VIRIDIS_HIGH)
    assert pixels[int(image.argmin())][:3] == list(VIRIDIS_LOW)
    assert len({tuple(p) for p in pixels}) > 2
    expect(page.locator(".scale-bar")).to_contain_text("µm")
    annotated.alice.shot("04-ion-image")

    page.get_by_label("Colormap").select_option("gray")
    assert _canvas_pixels(page)[int(image.argmax())][:3] == [255, 255, 255]
    page.get_by_role("button", name="M+1").click()
    expect(page.locator("canvas.ion-canvas")).to_have_attribute("aria-label", re.compile("isotope peak 2"))
    with page.expect_download() as download:
        page.get_by_role("button", name="Download PNG").click()
    assert download.value.suggested_filename.endswith("_peak2.png")
    assert annotated.alice.errors == []


def test_sharing_with_a_group(annotated, browser, live_server, screenshots):
    bob = Person(browser, live_server, "Bob", screenshots)
    carol = Person(browser, live_server, "Carol", screenshots)
    page = annotated.alice.page
    page.goto("/groups")
    page.get_by_label("New group").fill(f"Lab {uuid.uuid4().hex[:6]}")
    page.get_by_role("button", name="Create group").click()
    page.get_by_label("Add a member by e-mail").fill(bob.email)
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator(".members")).to_contain_text("Bob")
    annotated.alice.shot("05-groups")

    page.goto(f"/datasets/{annotated.dataset_id}")
    page.get_by_role("tab", name="Sharing").click()
    page.get_by_role("radio", name=re.compile("^Group")).check()
    page.get_by_role("button", name="Save sharing").click()
    expect(page.locator(".notice.success")).to_contain_text("shared with Lab")
    expect(page.locator(".head-meta")).to_contain_text("group: Lab")

    bob.page.set_viewport_size(PHONE)
    bob.page.goto(f"/datasets/{annotated.dataset_id}")
    expect(bob.page.get_by_role("heading", name=annotated.name)).to_be_visible()
    expect(bob.page.locator("table.annotations tbody tr")).to_have_count(20)
    bob.shot("06-shared-dataset-on-a-phone")
    bob.page.goto("/")
    expect(bob.page.locator("table.datasets")).to_contain_text(annotated.name)

    anonymous = browser.new_context(base_url=live_server)
    for visitor in (carol.page, anonymous.new_page()):
        visitor.goto(f"/datasets/{annotated.dataset_id}")
        expect(visitor.get_by_role("heading", name="Not found")).to_be_visible()
        visitor.goto("/")
        expect(visitor.locator("table.datasets")).to_have_count(0)
    carol.page.goto(f"/datasets/{annotated.dataset_id}")
    carol.shot("07-not-found")
    assert bob.errors == carol.errors == []
    for context in (bob.context, carol.context, anonymous):
        context.close()


def test_project_review_link_and_publication(annotated, browser, live_server, screenshots):
    page = annotated.alice.page
    page.goto("/projects")
    page.get_by_label("Name").fill("Colon spheroids")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name="Colon spheroids")).to_be_visible()
    project_url = page.url

    page.goto(f"/datasets/{annotated.dataset_id}")
    page.get_by_role("tab", name="Sharing").click()
    page.get_by_role("button", name="Add to project").click()
    expect(page.locator("table.datasets")).to_contain_text(annotated.name)
    page.get_by_role("button", name="Create review link").click()
    review_link = page.locator(".copy-field input").input_value()
    assert "/review/" in review_link and "token=" in review_link

    reviewer = browser.new_context(base_url=live_server).new_page()
    reviewer.goto(review_link)
    expect(reviewer.get_by_role("heading", name="Colon spheroids")).to_be_visible()
    reviewer.screenshot(path=screenshots / "11-review-link.png")
    reviewer.get_by_role("link", name=annotated.name).click()
    expect(reviewer.locator("table.annotations tbody tr").first).to_be_visible()

    page.goto(project_url)
    page.get_by_label("DOI").fill("10.1234/spheroids")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Publish project").click()
    expect(page.locator(".publication")).to_contain_text("10.1234/spheroids")
    annotated.alice.shot("10-published-project")

    visitor = browser.new_context(base_url=live_server).new_page()
    visitor.goto("/")
    expect(visitor.locator("table.datasets")).to_contain_text(annotated.name)
    visitor.goto(f"/datasets/{annotated.dataset_id}")
    expect(visitor.get_by_role("tab", name="Sharing")).to_have_count(0)
    for other in (reviewer, visitor):
        other.context.close()


def test_invalid_inputs_show_the_api_message(browser, live_server, screenshots, tmp_path):
    dave = Person(browser, live_server, "Dave", screenshots)
    page = dave.page
    bad_db = tmp_path / "bad.csv"
    bad_db.write_text("id,name,formula\n1,water,H2O\n2,broken,C6H1x2\n")
    page.goto("/databases")
    page.get_by_label("File").set_input_files(bad_db)
    page.get_by_role("button", name="Upload database").click()
    expect(page.locator(".form-errors .notice.error")).to_contain_text("C6H1x2")

    imzml, ibd = tmp_path / "broken.imzML", tmp_path / "broken.ibd"
    imzml.write_text("<not imzML")
    ibd.write_bytes(b"\0" * 64)
    page.goto("/upload")
    page.locator("input[name=files]").set_input_files([imzml, ibd])
    page.get_by_role("button", name="Upload and annotate").click()
    expect(page.locator(".form-errors .notice.error")).to_contain_text("broken.imzML is not well-formed XML")
    dave.shot("08-invalid-upload")
    assert page.request.get("/api/v1/datasets", params={"q": "broken"}).json()["total"] == 0
    dave.context.close()


def test_api_key_for_scripts(browser, live_server, screenshots):
    erin = Person(browser, live_server, "Erin", screenshots)
    page = erin.page
    page.goto("/account")
    page.get_by_label("New key name").fill("laptop")
    page.get_by_role("button", name="Create API key").click()
    key = page.locator(".copy-field input").input_value()
    expect(page.locator("table.data-table")).to_contain_text("laptop")
    erin.shot("09-account")
    script = browser.new_context(base_url=live_server)  # no cookies: the key alone signs the request in
    me = script.request.get("/api/v1/auth/me", headers={"X-API-Key": key})
    assert me.ok and me.json()["email"] == erin.email
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("No API keys yet.")).to_be_visible()
    assert script.request.get("/api/v1/auth/me", headers={"X-API-Key": key}).status == 401
    assert erin.errors == []
    script.close()
    erin.context.close()

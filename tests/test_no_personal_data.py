"""No ID number, phone or password in what a failing import says: its stderr, the
app's message, the server's log or the audit log (等保 2.0, PIPL). The batches put
personal data where a careless message would quote it: in the row a header search
reads as headers, in a file whose required column is missing, in a malformed row."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from batchgen import make_batch, make_id

from analytics import store, workflow
from analytics.ingest import ImportRejected

ID_LIKE = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
PHONE = "13912345678"
PHONE_LIKE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def bad_batches(root: Path) -> list[Path]:
    people = [[make_id(i), f"张{i}", PHONE] for i in range(1, 6)]
    return [
        # No header row at all: the first data row is where a header would be.
        make_batch(root, "noheader", {"户籍人口.csv": people}),
        # The ID column is missing; the rows still hold IDs in another column.
        make_batch(root, "missing", {"低保.csv": [["编号", "姓名", "联系电话"], *people]}),
        # A header naming its field twice, over rows of IDs and phones.
        make_batch(
            root,
            "twice",
            {
                "户籍人口.csv": [
                    ["身份证号", "身份证号码", "姓名"],
                    *[[p[0], p[0], p[1]] for p in people],
                ]
            },
        ),
    ]


def clean(text: str) -> None:
    assert not ID_LIKE.search(text), text
    assert not PHONE_LIKE.search(text), text
    assert "张" not in text, text  # nor a name, masked or not
    assert "****" not in text, text  # a masked row is still the row


@pytest.mark.parametrize("which", [0, 1, 2])
def test_a_failing_import_says_nothing_personal(tmp_path: Path, which: int) -> None:
    batch = bad_batches(tmp_path / "b")[which]
    db = tmp_path / "k.duckdb"
    done = subprocess.run(
        [sys.executable, "-m", "analytics.cli", "import", str(batch), "--db", str(db)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ},
    )
    assert done.returncode != 0 and done.stderr.strip()
    clean(done.stdout + done.stderr)
    clean("\n".join(map(str, store.app_rows(db, "SELECT * FROM audit"))))


def test_the_apps_upload_message_and_log_say_nothing_personal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "k.duckdb"
    caplog.set_level(logging.DEBUG)
    for batch in bad_batches(tmp_path / "b"):
        with pytest.raises(ImportRejected) as err:
            workflow.import_and_build([batch], db, user="钱人社", role="bureau")
        clean(str(err.value))
    clean(caplog.text)

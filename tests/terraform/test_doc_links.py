"""Every relative link of README.md and docs/*.md resolves: the file exists and a ``#fragment`` names a heading of
the target (GitHub's anchors). The README links every docs/ page. The checker itself can fail (doc_links.py).
"""

from __future__ import annotations

from pathlib import Path

import doc_links  # tests/terraform/doc_links.py: pytest puts this test's directory on sys.path
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(document: Path) -> None:
    assert doc_links.problems([document]) == []


def test_the_documents_have_links_to_check() -> None:
    """Guards the parser: the README alone links a dozen files and headings."""
    assert len(doc_links.links(ROOT / "README.md")) >= 10


def test_readme_links_every_docs_page() -> None:
    linked = {
        (ROOT / link.target.partition("#")[0]).resolve()
        for link in doc_links.links(ROOT / "README.md")
        if link.target.partition("#")[0]
    }
    missing = [p.relative_to(ROOT).as_posix() for p in DOCUMENTS[1:] if p.resolve() not in linked]
    assert missing == [], f"README.md links no {missing}"


# --- the checker -------------------------------------------------------------------------------------------------


def test_slugs_are_githubs() -> None:
    assert doc_links.slug("Try it locally: `make demo`") == "try-it-locally-make-demo"
    assert doc_links.slug("The scan ledger: notify on news") == "the-scan-ledger-notify-on-news"
    assert doc_links.slug("Targets (checked by `make bench`)") == "targets-checked-by-make-bench"
    assert (
        doc_links.slug("Accepted risks: `suppressions` with an expiry") == "accepted-risks-suppressions-with-an-expiry"
    )
    assert doc_links.slug("Chat: Slack, Microsoft Teams, Amazon Chime") == "chat-slack-microsoft-teams-amazon-chime"
    assert doc_links.slug("The [ledger](x.md) and snake_case") == "the-ledger-and-snake_case"
    assert doc_links.slug("Enhanced scanning, continuously: `Inspector2 Finding` events") == (
        "enhanced-scanning-continuously-inspector2-finding-events"
    )


def test_checker_finds_broken_links(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "other.md").write_text("# Other\n\n## Part two\n\n## Part two\n\n```\n# not a heading\n```\n")
    document = tmp_path / "index.md"
    document.write_text(
        "# Index\n\n## Here\n\n"
        "[ok](sub/other.md) [ok](sub/other.md#part-two) [ok](sub/other.md#part-two-1) [ok](#here) [ok](sub)\n"
        "[web](https://example.com/x.md) [mail](mailto:a@example.com) `[code](nowhere.md)`\n"
        "```\n[fenced](nowhere.md)\n```\n"
        "[gone](missing.md) [bad anchor](sub/other.md#part-three) [bad](#there) [dir anchor](sub#x)\n"
        "![image](img.png)\n"
        "[ref]: sub/missing-too.md\n"
        "[ok](sub/other.md#not-a-heading)\n"
    )
    found = doc_links.problems([document])
    assert [line.split(": (", 1)[1].split(")", 1)[0] for line in found] == [
        "missing.md",
        "sub/other.md#part-three",
        "#there",
        "sub#x",
        "img.png",
        "sub/missing-too.md",
        "sub/other.md#not-a-heading",
    ]
    assert doc_links.main([str(document)]) == 1
    document.write_text("[ok](sub/other.md)\n")
    assert doc_links.main([str(document)]) == 0

from __future__ import annotations

from pipeline.saved_searches import slug
from pipeline.web import _spreadsheet_safe


def test_csv_cells_never_start_a_formula() -> None:
    assert _spreadsheet_safe('=HYPERLINK("http://evil","x")') == '\'=HYPERLINK("http://evil","x")'
    assert _spreadsheet_safe("+1") == "'+1" and _spreadsheet_safe("@SUM(A1)") == "'@SUM(A1)"
    assert _spreadsheet_safe("North Korea fires") == "North Korea fires"
    assert _spreadsheet_safe(None) == ""


def test_saved_search_ids() -> None:
    assert slug("Kim & Putin, summit!") == "kim-putin-summit"
    assert slug("!!!") == "search"

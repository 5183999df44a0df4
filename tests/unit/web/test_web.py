from __future__ import annotations

from pipeline.search.export import spreadsheet_safe
from pipeline.store.saved_searches import slug


def test_csv_cells_never_start_a_formula() -> None:
    assert spreadsheet_safe('=HYPERLINK("http://evil","x")') == '\'=HYPERLINK("http://evil","x")'
    assert spreadsheet_safe("+1") == "'+1" and spreadsheet_safe("@SUM(A1)") == "'@SUM(A1)"
    assert spreadsheet_safe("North Korea fires") == "North Korea fires"
    assert spreadsheet_safe(None) == ""


def test_saved_search_ids() -> None:
    assert slug("Kim & Putin, summit!") == "kim-putin-summit"
    assert slug("!!!") == "search"

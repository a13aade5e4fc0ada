"""The focused field is unmistakable (issue 11 item 4): its label turns bold on the
accent colour and the field's background changes, in the dark and light themes,
and the difference survives 256 and 16 colours."""

from __future__ import annotations

import pytest
from rich.color import ColorSystem
from sqlalchemy.engine import Engine
from textual.widget import Widget

from ertui.tui.widgets.form_rows import FormRow
from tests.tui.colours import downgraded
from tests.tui.conftest import make_app


def _look(row: FormRow, system: ColorSystem) -> tuple[object, ...]:
    label = row.query_one(".form-label", Widget)
    field_bg = downgraded(row.field.styles.background.rich_color, system)
    label_bg = downgraded(label.styles.background.rich_color, system)
    return (field_bg, label_bg, label.styles.text_style.bold)


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
@pytest.mark.parametrize("system", [ColorSystem.EIGHT_BIT, ColorSystem.STANDARD], ids=["256", "16"])
@pytest.mark.parametrize("field_id", ["description", "port", "ssl", "use_auth", "verify_tls"])
async def test_the_focused_field_stands_out(store: Engine, theme: str, system: ColorSystem, field_id: str) -> None:
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        app.theme = theme
        await pilot.press("a")
        screen = app.screen
        screen.query_one(f"#{field_id}").focus()
        await pilot.pause()
        rows = {row.field.id: row for row in screen.query(FormRow)}
        focused = _look(rows[field_id], system)
        for other_id, row in rows.items():
            if other_id == field_id or not row.display or type(row.field) is not type(rows[field_id]):
                continue
            other = _look(row, system)
            assert focused[0] != other[0], f"{field_id} vs {other_id}: same field background"
            assert focused[1] != other[1], f"{field_id} vs {other_id}: same label background"
            assert focused[2] and not other[2], "only the focused label is bold"

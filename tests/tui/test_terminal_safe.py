"""What the panel draws never carries a raw control character to the terminal."""

from __future__ import annotations

from textual.geometry import Region

from mapstore_core import MapObjectStore, WidgetChannels, create_widget_publisher
from mapstore_tui import MapStoreApp


async def test_control_characters_in_names_and_values_are_drawn_as_symbols() -> None:
    store = MapObjectStore()
    hostile = "feed\x1b]0;owned\x07\x1b[2J\x9b"
    store.register_producer("prices\x1b[31m", hostile).publish({"note": "a\x1b[Hb\x00"})
    app = MapStoreApp(store=store, refresh_interval=0)
    app.animation_level = "none"
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        for key in ("o", "escape", "l"):
            await pilot.press(key)
            await pilot.pause()
            drawn = ""
            for widget in app.screen.query("*"):
                size = widget.size
                if size.width and size.height:
                    region = Region(0, 0, size.width, size.height)
                    drawn += "".join(s.text for line in widget.render_lines(region) for s in line)
            assert not any(
                (ord(c) < 0x20 and c not in "\t\n") or 0x7F <= ord(c) < 0xA0 for c in drawn
            )
            assert "␛" in drawn  # shown, as a symbol, not hidden


async def test_markup_in_names_and_values_is_shown_as_text() -> None:
    """Names and payloads are data: ``[/]`` in one is drawn, never parsed (it crashed)."""
    store = MapObjectStore()
    paragraphs = create_widget_publisher(
        WidgetChannels.PARAGRAPH_CONTENT, "static-page-[/b]", store=store
    )
    paragraphs.publish({"title": "[/]x[@click=app.quit]q[/]", "content": "[/]"})
    tables = create_widget_publisher(WidgetChannels.TABLE_DATA, "tab[/]", store=store)
    tables.publish({"title": "[/]", "headers": ["[/]"], "rows": [["[/]"]]})
    store.register_producer("ch[/]an", "feed[/]").publish({"a": "[/]"})
    app = MapStoreApp(store=store, refresh_interval=0)
    app.animation_level = "none"
    async with app.run_test(size=(140, 45)) as pilot:
        for channel in ("paragraph-content", "table-data", "ch[/]an"):
            app.monitor.query_one("ChannelList").select(channel)
            app.monitor.selected = channel
            for key in ("1", "2", "3", "4", "5", "o", "escape", "l", "d", "f", "v", "escape"):
                await pilot.press(key)
                await pilot.pause()
        assert app.is_running
        await pilot.press("1")  # the raw channel's preview names its producer, as written
        await pilot.pause()
        caption = app.monitor.query_one("ChannelPreview").query_one(".caption")
        region = Region(0, 0, caption.size.width, caption.size.height)
        drawn = "".join(s.text for line in caption.render_lines(region) for s in line)
        assert "from feed[/]" in drawn

"""Pattern: an API/REST service class registers its producer in its constructor."""

from __future__ import annotations

import random

from mapstore_core import MapObjectStore, TableData, WidgetChannels, create_widget_publisher

SYMBOLS = ("ACME", "GLOBX", "INITECH", "UMBRL", "WAYNE", "STARK")


class MarketDataService:
    """Fetches a price table (simulated) and publishes it on ``table-data``."""

    PRODUCER_ID = "market-data-service"

    def __init__(self, store: MapObjectStore, rng: random.Random) -> None:
        self._rng = rng
        self._prices = {symbol: rng.uniform(20, 400) for symbol in SYMBOLS}
        self._fetches = 0
        self.publisher = create_widget_publisher(
            WidgetChannels.TABLE_DATA, self.PRODUCER_ID, store=store
        )

    def refresh(self) -> TableData:
        """Fetch the latest prices and publish them."""
        self._fetches += 1
        rows: list[list[str | int | float | None]] = []
        for symbol, price in self._prices.items():
            new = round(max(1.0, price * (1 + self._rng.gauss(0, 0.02))), 2)
            change = round((new - price) / price * 100, 2)
            self._prices[symbol] = new
            rows.append([symbol, new, change, self._rng.randint(1_000, 90_000)])
        table = TableData(
            title=f"Market data (fetch #{self._fetches})",
            headers=["Symbol", "Price", "Change %", "Volume"],
            rows=rows,
        )
        self.publisher.publish(table)
        return table

    def close(self) -> None:
        """The service is shut down: its producer goes with it."""
        self.publisher.close()

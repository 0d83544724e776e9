"""Simulated data sources, one module per registration pattern of the guide.

Each source registers its producer where the guide says (a service's constructor, a
connection manager's ``connect``, a form's ``mount``, a polling service's ``start``, a job
completion handler through the bridge, a page's ``load``) and closes it when its owner goes
away. They use only ``mapstore_core``; ``DemoSources`` wires them to one store.

``form_screen`` is the Textual screen of the user input form, shown by the demo app only (it
is not imported here: the sources stay free of Textual). The panel itself (app, monitor,
screens, widgets, views) never imports this package; ``mapstore-tui`` imports it only in
the commands that run a demo.
"""

from mapstore_tui.demo.ai_job import SummarizationJobs
from mapstore_tui.demo.market_data import MarketDataService
from mapstore_tui.demo.polling import PollingService
from mapstore_tui.demo.realtime import RealtimeConnection
from mapstore_tui.demo.sources import DemoSources
from mapstore_tui.demo.static_page import StaticPage
from mapstore_tui.demo.user_form import UserInputForm

__all__ = [
    "DemoSources",
    "MarketDataService",
    "PollingService",
    "RealtimeConnection",
    "StaticPage",
    "SummarizationJobs",
    "UserInputForm",
]

"""The team's spreadsheet as a sync sees it: the one object the pipeline talks to for Sheets.

It holds the workbook (the transport) and what the run read (``SheetData``),
so the steps of a run — read the tabs, find the leads, settle the rows the
ledger cannot vouch for, write the changes, log the run — are its methods
instead of functions handed the same pair again and again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from syncbot.config import SheetsConfig
from syncbot.core.dashboard import DashboardTables
from syncbot.core.handoff import HandoffLead, HandoffRecord
from syncbot.core.inputs import TeamColumn
from syncbot.ports import ColumnRead, DashboardMemory, DashboardWrite, OpenedLeads, TeamInputs
from syncbot.progress import STILL, Meter
from syncbot.sheets.client import Grid, Tab
from syncbot.sheets.dashboard import (
    add_charts,
    dashboard_values,
    find_dashboard,
    fit_tables,
    make_dashboard,
)
from syncbot.sheets.handoff import HandoffTab, append_handoffs, ensure_handoff_tab, read_handoff
from syncbot.sheets.inputs import plan_inputs
from syncbot.sheets.leads import LeadsDiff
from syncbot.sheets.spool import PendingRow
from syncbot.sheets.stream import RowStream
from syncbot.sheets.tabs import (
    InitResult,
    SheetData,
    append_run,
    init_spreadsheet,
    prepare_leads,
    read_spreadsheet,
    settle_leads,
    stream_leads,
    write_leads,
)


class Spreadsheet:
    def __init__(self, workbook: Grid, config: SheetsConfig, sources: Sequence[str] = ()) -> None:
        self.workbook, self.config, self.sources = workbook, config, tuple(sources)
        self._data: SheetData | None = None
        self._handoff: HandoffTab | None = None
        self._leads_grid: Tab | None = None  # the Leads grid as a stream grew it

    @property
    def requests(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self.workbook.requests

    @property
    def data(self) -> SheetData:
        """What ``read`` found (read it first)."""
        assert self._data is not None, "read() comes first"
        return self._data

    def init(self) -> InitResult:
        """Create the missing tabs (in the config's language, else the sheet's)."""
        return init_spreadsheet(self.workbook, self.config)

    def read(self, beside: Sequence[ColumnRead] = (), last: Sequence[str] = ()) -> SheetData:
        """The rules tabs, the Leads header, the Runs length and the sources' headers (two
        requests), and the columns ``beside`` (those the last run's ``open_leads`` read) with
        them, so that ``open_leads`` need not ask again; ``last``: the tabs' ranges the last
        run read (``SheetData.ranges``), asked for at once (``tabs.read_spreadsheet``)."""
        self._data = read_spreadsheet(self.workbook, self.config, self.sources, beside, last)
        self._handoff = read_handoff(self._data)
        return self._data

    def handoff_records(self) -> list[HandoffRecord]:
        """The Hand-off tab's rows as ``read`` found them (none when there is no such tab)."""
        return self._handoff.records if self._handoff is not None else []

    def handoff_statuses(self) -> dict[str, str]:
        """Each handed-off lead's Status in its latest Hand-off row, by key."""
        return self._handoff.statuses() if self._handoff is not None else {}

    def append_handoffs(self, leads: Sequence[HandoffLead], handed_off_at: datetime) -> Tab:
        """A Hand-off row per lead, making the tab first when the spreadsheet has none (even
        for no lead: sales sees where hand-offs will come); returns the tab."""
        handoff = self._handoff or ensure_handoff_tab(self.workbook, self.data,
                                                      self.config.handoff_tab)
        self._handoff = append_handoffs(self.workbook, handoff, leads, handed_off_at,
                                        self.data.language)
        return handoff.tab

    def open_leads(self, columns: Sequence[str], team: Sequence[TeamColumn], *,
                   trust_ledger: bool) -> OpenedLeads:
        """Which lead is on which row of Leads (syncbot's ``columns``) and the values of the
        ``team`` columns the rules name, in one request (none when ``read`` took them all);
        with each handed-off lead's Hand-off Status (``handoff_status``, read with the
        tabs)."""
        data = self.data
        plan = plan_inputs(team, leads_header=data.leads_header, sources=data.sources)
        read = prepare_leads(self.workbook, data, columns, trust_ledger=trust_ledger,
                             also=plan.to_read)
        inputs = plan.join(read.also, read.diff.rows_of)
        inputs.add("handoff_status", self.handoff_statuses())
        return OpenedLeads(read.diff, inputs, read.columns)

    def handoff_inputs(self) -> TeamInputs:
        """The one team input that needs no read of Leads: each handed-off lead's Hand-off
        Status."""
        inputs = TeamInputs()
        inputs.add("handoff_status", self.handoff_statuses())
        return inputs

    def settle_leads(self, diff: LeadsDiff) -> None:
        settle_leads(self.workbook, self.data, diff)

    def stream_leads(self, diff: LeadsDiff, synced_at: datetime, new_leads: int
                     ) -> RowStream[list[PendingRow]]:
        """Make room for ``new_leads`` new rows and write them while ``diff`` takes them in
        (``tabs.stream_leads``); ``finish`` the stream before ``write_leads``."""
        stream, self._leads_grid = stream_leads(self.workbook, self.data, diff, synced_at,
                                                new_leads)
        return stream

    def write_leads(self, diff: LeadsDiff, synced_at: datetime, rows: Meter = STILL,
                    meanwhile: Iterable[object] = ()) -> int:
        """Write the changed rows (those a stream did not); ``rows`` counts them as their
        requests are made up; ``meanwhile``: steps of the caller's own work, taken while a
        request is on its way (``Grid.write``)."""
        return write_leads(self.workbook, self.data, diff, synced_at, rows=rows,
                           grid=self._leads_grid, meanwhile=meanwhile)

    def prepare_dashboard(self, tables: DashboardTables, memory: DashboardMemory | None
                          ) -> DashboardWrite:
        """Make the Dashboard ready for ``tables``: the first time, make the tab or its charts
        (one request), and grow an older one (once). Its tables are returned, not written:
        they go with the Runs row (``append_run``), so the Dashboard costs no request of its
        own."""
        data = self.data
        name = self.config.dashboard_tab
        tab = find_dashboard(self.workbook, data.found, memory, name)
        if tab is None:
            tab = make_dashboard(self.workbook, data.found, data.language, len(tables.tags),
                                 charts=True, name=name)
        if memory is not None and memory.sheet_id == tab.sheet_id:
            charts = memory.charts  # made before: never again, even when the team deleted them
        else:  # made by init, or the state forgot it: adopted, charted if it has no chart
            if not tab.charts:
                tab = add_charts(self.workbook, tab, data.language, len(tables.tags))
            charts = tab.charts
        fit_tables(self.workbook, tab)
        return DashboardWrite(DashboardMemory(self.config.spreadsheet_id, tab.sheet_id, charts),
                              dashboard_values(tab.title, tables, data.language.dashboard))

    def append_run(self, values: Sequence[Any],
                   alongside: Sequence[Mapping[str, Any]] = ()) -> None:
        """One row in the Runs tab (nothing when the tabs were never read), in one request
        with the ValueRanges ``alongside`` (the Dashboard's tables), written before it."""
        if self._data is not None:
            append_run(self.workbook, self._data, values, alongside)

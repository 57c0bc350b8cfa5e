"""Google Sheets: the one object the pipeline talks to (``spreadsheet.Spreadsheet``), over the
transport (``client``, or the in-memory ``fake``); request bodies as sent (``wire``); cell
notation (``a1``); the tabs syncbot creates and reads (``tabs``, ``templates/``, in the
sheet's ``language``); the Leads tab's merge (``leads``, its rows waiting on disk in
``spool``); the team's own columns and tabs (``inputs``); the Hand-off tab (``handoff``) and
the Dashboard (``dashboard``)."""

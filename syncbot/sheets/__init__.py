"""Google Sheets: the transport (``client``), cell notation (``a1``), the tabs syncbot creates
and reads (``tabs``, ``templates/``) and the Leads tab's merge (``leads``)."""

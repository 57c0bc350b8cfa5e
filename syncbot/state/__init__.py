"""The local state: the pulled audience, the run cursor and the Leads ledger (``store``), and
the lock that keeps two syncs apart (``lock``)."""

"""The local state: the pulled audience, the run cursor, the Leads ledger and the orders
(``store``), the score history kept a few bytes a point (``history``), and the lock that
keeps two syncs apart (``lock``)."""

"""Mailchimp: the one object the pipeline talks to (``client.MailchimpAudience``, which owns
the paging, the connection limit and the retries), Mailchimp's records as the core's types
and read back from the local state (``records``, free of the client library, for the scoring
workers), the incremental pull into the local state (``pull``), the stores' orders listing
(``orders``) and an audience in memory behind the same calls (``fake``)."""

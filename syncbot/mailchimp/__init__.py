"""Mailchimp: the one object the pipeline talks to (``client.MailchimpAudience``, which owns
the paging, the connection limit and the retries, and turns Mailchimp's records into the
core's), the incremental pull into the local state (``pull``), the stores' orders listing
(``orders``) and an audience in memory behind the same calls (``fake``)."""

"""Mailchimp: the one object the pipeline talks to (``MailchimpAudience``), its wire format
(``convert``) and the incremental pull into the local state (``pull``)."""

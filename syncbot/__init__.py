"""syncbot: lead scoring between a Google Sheet and a Mailchimp audience."""

__version__ = "0.1.0"

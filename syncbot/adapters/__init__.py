"""One module per external API; each owns its paging, retries, rate limit and error mapping."""

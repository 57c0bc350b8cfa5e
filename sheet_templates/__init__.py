"""The tabs `syncbot init` creates: one CSV per tab and language (en/), plus format.toml.

A translation adds a folder (es/) with the same files; the formatting in
format.toml is shared by every language.
"""

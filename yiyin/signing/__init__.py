"""PKI and seals: keystores, the development CA, seal appearances, PAdES sealing, validation.

Knows nothing of licences: it seals and checks PDFs for whoever holds a key.
"""

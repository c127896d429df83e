"""The system of record: organs, items, seals, numbers, issued documents, status, the log.

Knows nothing of PDFs or keys beyond the digests and certificate fingerprints it is given.
"""

"""One set of archives (一套档案) per matter: the dossier, its sealed volume, its package, its checks.

Takes a dossier as plain data (documents as bytes, registry facts as values) and knows nothing of
databases or of the service: it seals through :mod:`yiyin.signing` and lays out pages with
:mod:`yiyin.templates`' fonts and Typst.
"""

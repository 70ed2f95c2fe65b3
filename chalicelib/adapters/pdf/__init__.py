"""The PDFs the portal issues: the invoice layout, its Factur-X embedding and the agreement. These modules import fpdf2
and factur-x (about 0.6 s and tens of MB together): load them where documents are rendered (the issuing job or worker),
never from the portal API's read paths, which serve the kept bytes (`chalicelib.adapters.documents` imports them on
first use).

Every PDF is deterministic: every date in the file is the document's own (the invoice's `issued_at`, the agreement's
`generated_at`) and no random identifier is used, so the same input renders the same bytes.
"""

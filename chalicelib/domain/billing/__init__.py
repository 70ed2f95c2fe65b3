"""Billing domain (DESIGN 14, 15): pure, no I/O, no AWS, no PDF or XML library.

  money.py        rounding to a currency's minor unit (ISO 4217 exponents in domain/reference.py), decimal strings
  formatting.py   languages, and amounts, rates and dates as the PDF and the emails print them
  sellers.py      Seller (frozen all the way down), SellerCatalog, load_sellers
  tax.py          VAT categories, the VAT treatment of a sale, the breakdown per category and rate (EN 16931)
  document.py     the document: type (invoice / credit note), cause (`kind`), lines, breakdown, checked totals
  pricing.py      price_term (the one pricing of a term) and build_invoice
  terms.py        renewal dates and terms from the anchor
  numbering.py    number series per seller, year and document type
  json.py         the API JSON and the stored record

Import from the module that defines a name. The PDF/Factur-X rendering lives in `chalicelib.adapters.pdf`;
where the sellers file comes from is decided in `chalicelib.adapters.sellers`.
"""

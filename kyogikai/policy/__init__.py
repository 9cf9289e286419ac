"""Who may do what: the matrix, row scoping, consent, masking and the audit trail.

Every view and export asks this package; nothing else decides access.
"""

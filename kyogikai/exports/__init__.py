"""Files people take away (CSV, the 様式 workbooks and PDFs): rows in, already scoped and masked by
policy/; bytes out. Nothing here queries cases on its own."""

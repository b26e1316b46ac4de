"""The service desk (issue 19): desk customers, search, acting for a customer."""

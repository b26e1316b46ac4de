"""The audit trail's pure rules: the hash chain, masking, pseudonyms."""

"""Merchants, VAT rates and accounting dimensions: data the cart prices and books with."""

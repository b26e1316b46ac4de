"""`python -m services.payment`: run the payment service until signalled."""

from services.payment.app import main

if __name__ == "__main__":
    main()

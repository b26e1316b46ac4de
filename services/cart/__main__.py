"""`python -m services.cart`: run the cart service until signalled."""

from services.cart.app import main

if __name__ == "__main__":
    main()

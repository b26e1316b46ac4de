"""Payment providers behind one interface (`base.Provider`): `local` and `stripe`."""

"""What only the aca stage has: Azure Container Apps, identities, data services, Key Vault, ACR."""

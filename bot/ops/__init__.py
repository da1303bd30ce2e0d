"""Operations: configuration checks, the health check, corpus folder watching, the audit trail."""

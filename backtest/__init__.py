"""The offline backtest: replay recorded judge votes with human labels through routing."""

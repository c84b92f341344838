"""Everything that talks to GitHub: the async client, GraphQL queries, fetchers and their errors."""

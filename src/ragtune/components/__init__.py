"""The components a workspace is made of; each takes what it needs in its constructor and can be built alone
(with fakes) in tests. :class:`ragtune.workspace.Workspace` is the one place that builds them from settings."""

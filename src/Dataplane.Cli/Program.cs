using Dataplane.Cli.Commands;

return DataplaneCli.Create().Parse(args).Invoke();

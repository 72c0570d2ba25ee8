using Dataplane.Cli.Commands;

System.CommandLine.ParseResult parse = DataplaneCli.Create().Parse(args);
return ParseErrors.Refuse(parse, Console.Error) ?? parse.Invoke();

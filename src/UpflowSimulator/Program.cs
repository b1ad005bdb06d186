using UpflowSimulator;

UpflowSimulatorApp.Build(args).Run();

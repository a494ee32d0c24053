"""What the machine is: the environment fingerprint every manifest and record carries, the
measured compute and bandwidth peaks the roofline profiler divides by, and which NVML
devices hold a model. Facts about the hardware, not measurements of a window."""

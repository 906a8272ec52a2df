"""What only the `oci` stage has: k3s on Oracle Cloud Always Free Ampere A1 instances."""

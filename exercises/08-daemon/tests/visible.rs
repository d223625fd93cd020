// placeholder: visible tests for 08

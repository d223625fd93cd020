// placeholder: visible tests for 07

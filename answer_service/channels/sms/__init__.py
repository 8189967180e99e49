"""SMS: keyword grammar, GSM-7/UCS-2 segmentation, gateway adapters and broadcast campaigns."""

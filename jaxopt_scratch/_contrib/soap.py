"""SOAP: Adam in the eigenbasis of Shampoo's preconditioner (Vyas et al., 2024).

Work in progress (issue 14, item 2): ``soap``/``scale_by_soap`` land here.
"""
